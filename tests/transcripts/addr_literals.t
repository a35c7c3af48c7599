# Address literals: IPv4 and IPv6 (full, compressed, with IPv4 tail) are valid domains.
C: EHLO client.example
C: MAIL FROM:<a@[192.0.2.1]>
C: RCPT TO:<b@[IPv6:2001:db8::1]>
C: RCPT TO:<c@[IPv6:2001:db8:0:0:0:0:0:2]>
C: RCPT TO:<d@[IPv6:::ffff:192.0.2.3]>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Sender: <a@[192.0.2.1]>\n
@contains Recipient: <b@[IPv6:2001:db8::1]>\n
@contains Recipient: <c@[IPv6:2001:db8:0:0:0:0:0:2]>\n
@contains Recipient: <d@[IPv6:::ffff:192.0.2.3]>\n
