# EOF without QUIT after a queued message: the message stays queued, exit 1.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
@new 1
@tmp 0
@exit 1
