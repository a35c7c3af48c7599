# POST in the middle of a transaction: 421 4.7.0, nothing spooled, nothing after it is run.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: POST /cgi-bin/x HTTP/1.1
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 421 4.7.0 *
@new 0
@tmp 0
@exit 1
