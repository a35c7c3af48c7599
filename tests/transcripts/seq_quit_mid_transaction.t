# QUIT after MAIL and RCPT: 221, exit 0, and nothing is spooled.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 221 2.0.0 *
@new 0
@tmp 0
@exit 0
