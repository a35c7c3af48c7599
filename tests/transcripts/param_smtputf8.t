# SMTPUTF8 takes no value (501 with one); given alone it is kept in the envelope.
C: EHLO client.example
C: MAIL FROM:<a@example.org> SMTPUTF8=yes
C: MAIL FROM:<a@example.org> SMTPUTF8
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 501 5.5.4 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains SMTPUTF8: yes\n
@contains Protocol: UTF8SMTP\n
