# --max-recipients 2: the 3rd and later recipients get 452 4.5.3; the message goes to the first two.
@args --max-recipients 2
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<r1@example.com>
C: RCPT TO:<r2@example.com>
C: RCPT TO:<r3@example.com>
C: RCPT TO:<r4@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 452 4.5.3 *
S: 452 4.5.3 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <r1@example.com>\nRecipient: <r2@example.com>\n\n
@absent r3@
@absent r4@
