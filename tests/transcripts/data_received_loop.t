# 100 client Received: lines are fine; 101 get 554 5.4.6 (mail loop), nothing spooled; Received: in the body does not count.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<hundred@example.com>
C: DATA
C: Received: from h0.example by h1.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h1.example by h2.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h2.example by h3.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h3.example by h4.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h4.example by h5.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h5.example by h6.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h6.example by h7.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h7.example by h8.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h8.example by h9.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h9.example by h10.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h10.example by h11.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h11.example by h12.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h12.example by h13.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h13.example by h14.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h14.example by h15.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h15.example by h16.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h16.example by h17.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h17.example by h18.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h18.example by h19.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h19.example by h20.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h20.example by h21.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h21.example by h22.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h22.example by h23.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h23.example by h24.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h24.example by h25.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h25.example by h26.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h26.example by h27.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h27.example by h28.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h28.example by h29.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h29.example by h30.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h30.example by h31.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h31.example by h32.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h32.example by h33.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h33.example by h34.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h34.example by h35.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h35.example by h36.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h36.example by h37.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h37.example by h38.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h38.example by h39.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h39.example by h40.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h40.example by h41.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h41.example by h42.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h42.example by h43.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h43.example by h44.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h44.example by h45.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h45.example by h46.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h46.example by h47.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h47.example by h48.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h48.example by h49.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h49.example by h50.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h50.example by h51.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h51.example by h52.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h52.example by h53.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h53.example by h54.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h54.example by h55.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h55.example by h56.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h56.example by h57.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h57.example by h58.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h58.example by h59.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h59.example by h60.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h60.example by h61.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h61.example by h62.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h62.example by h63.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h63.example by h64.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h64.example by h65.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h65.example by h66.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h66.example by h67.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h67.example by h68.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h68.example by h69.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h69.example by h70.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h70.example by h71.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h71.example by h72.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h72.example by h73.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h73.example by h74.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h74.example by h75.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h75.example by h76.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h76.example by h77.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h77.example by h78.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h78.example by h79.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h79.example by h80.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h80.example by h81.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h81.example by h82.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h82.example by h83.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h83.example by h84.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h84.example by h85.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h85.example by h86.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h86.example by h87.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h87.example by h88.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h88.example by h89.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h89.example by h90.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h90.example by h91.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h91.example by h92.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h92.example by h93.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h93.example by h94.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h94.example by h95.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h95.example by h96.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h96.example by h97.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h97.example by h98.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h98.example by h99.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h99.example by h100.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Subject: 100 hops
C:
C: hi
C: .
C: MAIL FROM:<a@example.org>
C: RCPT TO:<loop@example.com>
C: DATA
C: received: from extra.example
C: Received: from h0.example by h1.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h1.example by h2.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h2.example by h3.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h3.example by h4.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h4.example by h5.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h5.example by h6.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h6.example by h7.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h7.example by h8.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h8.example by h9.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h9.example by h10.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h10.example by h11.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h11.example by h12.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h12.example by h13.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h13.example by h14.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h14.example by h15.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h15.example by h16.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h16.example by h17.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h17.example by h18.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h18.example by h19.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h19.example by h20.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h20.example by h21.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h21.example by h22.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h22.example by h23.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h23.example by h24.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h24.example by h25.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h25.example by h26.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h26.example by h27.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h27.example by h28.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h28.example by h29.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h29.example by h30.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h30.example by h31.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h31.example by h32.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h32.example by h33.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h33.example by h34.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h34.example by h35.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h35.example by h36.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h36.example by h37.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h37.example by h38.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h38.example by h39.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h39.example by h40.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h40.example by h41.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h41.example by h42.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h42.example by h43.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h43.example by h44.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h44.example by h45.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h45.example by h46.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h46.example by h47.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h47.example by h48.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h48.example by h49.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h49.example by h50.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h50.example by h51.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h51.example by h52.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h52.example by h53.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h53.example by h54.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h54.example by h55.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h55.example by h56.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h56.example by h57.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h57.example by h58.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h58.example by h59.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h59.example by h60.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h60.example by h61.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h61.example by h62.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h62.example by h63.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h63.example by h64.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h64.example by h65.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h65.example by h66.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h66.example by h67.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h67.example by h68.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h68.example by h69.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h69.example by h70.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h70.example by h71.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h71.example by h72.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h72.example by h73.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h73.example by h74.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h74.example by h75.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h75.example by h76.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h76.example by h77.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h77.example by h78.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h78.example by h79.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h79.example by h80.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h80.example by h81.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h81.example by h82.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h82.example by h83.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h83.example by h84.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h84.example by h85.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h85.example by h86.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h86.example by h87.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h87.example by h88.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h88.example by h89.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h89.example by h90.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h90.example by h91.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h91.example by h92.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h92.example by h93.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h93.example by h94.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h94.example by h95.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h95.example by h96.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h96.example by h97.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h97.example by h98.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h98.example by h99.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h99.example by h100.example; Mon, 1 Jan 2024 00:00:00 +0000
C:
C: hi
C: .
C: MAIL FROM:<a@example.org>
C: RCPT TO:<body@example.com>
C: DATA
C: Subject: received lines in the body
C:
C: Received: from h0.example by h1.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h1.example by h2.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h2.example by h3.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h3.example by h4.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h4.example by h5.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h5.example by h6.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h6.example by h7.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h7.example by h8.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h8.example by h9.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h9.example by h10.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h10.example by h11.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h11.example by h12.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h12.example by h13.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h13.example by h14.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h14.example by h15.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h15.example by h16.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h16.example by h17.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h17.example by h18.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h18.example by h19.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h19.example by h20.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h20.example by h21.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h21.example by h22.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h22.example by h23.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h23.example by h24.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h24.example by h25.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h25.example by h26.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h26.example by h27.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h27.example by h28.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h28.example by h29.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h29.example by h30.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h30.example by h31.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h31.example by h32.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h32.example by h33.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h33.example by h34.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h34.example by h35.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h35.example by h36.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h36.example by h37.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h37.example by h38.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h38.example by h39.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h39.example by h40.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h40.example by h41.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h41.example by h42.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h42.example by h43.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h43.example by h44.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h44.example by h45.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h45.example by h46.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h46.example by h47.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h47.example by h48.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h48.example by h49.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h49.example by h50.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h50.example by h51.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h51.example by h52.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h52.example by h53.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h53.example by h54.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h54.example by h55.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h55.example by h56.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h56.example by h57.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h57.example by h58.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h58.example by h59.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h59.example by h60.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h60.example by h61.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h61.example by h62.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h62.example by h63.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h63.example by h64.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h64.example by h65.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h65.example by h66.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h66.example by h67.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h67.example by h68.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h68.example by h69.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h69.example by h70.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h70.example by h71.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h71.example by h72.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h72.example by h73.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h73.example by h74.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h74.example by h75.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h75.example by h76.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h76.example by h77.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h77.example by h78.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h78.example by h79.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h79.example by h80.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h80.example by h81.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h81.example by h82.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h82.example by h83.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h83.example by h84.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h84.example by h85.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h85.example by h86.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h86.example by h87.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h87.example by h88.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h88.example by h89.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h89.example by h90.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h90.example by h91.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h91.example by h92.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h92.example by h93.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h93.example by h94.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h94.example by h95.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h95.example by h96.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h96.example by h97.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h97.example by h98.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h98.example by h99.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h99.example by h100.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h0.example by h1.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h1.example by h2.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h2.example by h3.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h3.example by h4.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h4.example by h5.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h5.example by h6.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h6.example by h7.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h7.example by h8.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h8.example by h9.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h9.example by h10.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h10.example by h11.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h11.example by h12.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h12.example by h13.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h13.example by h14.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h14.example by h15.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h15.example by h16.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h16.example by h17.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h17.example by h18.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h18.example by h19.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h19.example by h20.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h20.example by h21.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h21.example by h22.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h22.example by h23.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h23.example by h24.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h24.example by h25.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h25.example by h26.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h26.example by h27.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h27.example by h28.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h28.example by h29.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h29.example by h30.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h30.example by h31.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h31.example by h32.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h32.example by h33.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h33.example by h34.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h34.example by h35.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h35.example by h36.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h36.example by h37.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h37.example by h38.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h38.example by h39.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h39.example by h40.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h40.example by h41.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h41.example by h42.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h42.example by h43.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h43.example by h44.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h44.example by h45.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h45.example by h46.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h46.example by h47.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h47.example by h48.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h48.example by h49.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h49.example by h50.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h50.example by h51.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h51.example by h52.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h52.example by h53.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h53.example by h54.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h54.example by h55.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h55.example by h56.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h56.example by h57.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h57.example by h58.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h58.example by h59.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h59.example by h60.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h60.example by h61.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h61.example by h62.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h62.example by h63.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h63.example by h64.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h64.example by h65.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h65.example by h66.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h66.example by h67.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h67.example by h68.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h68.example by h69.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h69.example by h70.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h70.example by h71.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h71.example by h72.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h72.example by h73.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h73.example by h74.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h74.example by h75.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h75.example by h76.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h76.example by h77.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h77.example by h78.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h78.example by h79.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h79.example by h80.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h80.example by h81.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h81.example by h82.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h82.example by h83.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h83.example by h84.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h84.example by h85.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h85.example by h86.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h86.example by h87.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h87.example by h88.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h88.example by h89.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h89.example by h90.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h90.example by h91.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h91.example by h92.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h92.example by h93.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h93.example by h94.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h94.example by h95.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h95.example by h96.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h96.example by h97.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h97.example by h98.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h98.example by h99.example; Mon, 1 Jan 2024 00:00:00 +0000
C: Received: from h99.example by h100.example; Mon, 1 Jan 2024 00:00:00 +0000
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: 250-mx.test.example
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 554 5.4.6 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 2
@tmp 0
@exit 0
@absent loop@
@absent extra.example
