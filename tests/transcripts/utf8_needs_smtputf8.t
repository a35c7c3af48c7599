# Non-ASCII addresses without SMTPUTF8 on MAIL: 553 5.6.7 (RFC 6531 3.5), for sender and recipient.
C: EHLO client.example
C: MAIL FROM:<用户@例子.example>
C: MAIL FROM:<a@example.org>
C: RCPT TO:<jörg@example.com>
C: RCPT TO:<b@bücher.example>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 553 5.6.7 *
S: 250 2.1.0 *
S: 553 5.6.7 *
S: 553 5.6.7 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@absent jörg
@absent bücher
