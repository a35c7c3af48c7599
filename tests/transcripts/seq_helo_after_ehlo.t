# HELO after EHLO starts a plain SMTP session: parameters are then 555 and the message is spooled as SMTP.
C: EHLO client.example
C: HELO client.example
C: MAIL FROM:<a@example.org> SIZE=10
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 mx.test.example
S: 555 5.5.4 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Protocol: SMTP\n
