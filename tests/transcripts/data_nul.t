# A NUL byte in the data: read to the end, then 554 5.6.0, nothing spooled; the next message is fine.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: Subject: nul
C:
C: before\0after
C: .
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: clean
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 554 5.6.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@tmp 0
@exit 0
@absent before
@contains \r\nclean\r\n
