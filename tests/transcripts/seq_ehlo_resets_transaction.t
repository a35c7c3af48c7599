# EHLO in the middle of a transaction resets it (RFC 5321 4.1.4): DATA is then 503, nothing spooled.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: EHLO client.example
C: DATA
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: EHLO-REPLY
S: 503 5.5.1 *
S: 221 2.0.0 *
@new 0
@exit 0
