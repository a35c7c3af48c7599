# The client goes away without QUIT after a complete transaction setup: exit 1, nothing spooled.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
@new 0
@tmp 0
@exit 1
