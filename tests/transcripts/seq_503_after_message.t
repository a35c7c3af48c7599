# A finished message ends the transaction: RCPT and DATA are 503 until the next MAIL.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: one
C: .
C: RCPT TO:<c@example.com>
C: DATA
C: MAIL FROM:<a@example.org>
C: RCPT TO:<c@example.com>
C: DATA
C: two
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 503 5.5.1 *
S: 503 5.5.1 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 2
@exit 0
