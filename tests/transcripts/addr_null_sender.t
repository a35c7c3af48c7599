# The null reverse-path <> is fine in MAIL (bounces) and kept as <>; it is refused in RCPT.
C: EHLO client.example
C: MAIL FROM:<>
C: RCPT TO:<>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 501 5.1.3 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Sender: <>\nRecipient: <b@example.com>\n
