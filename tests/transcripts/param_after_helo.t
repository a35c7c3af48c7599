# After HELO (not EHLO) no service extension may be used: parameters on MAIL/RCPT get 555 5.5.4.
C: HELO client.example
C: MAIL FROM:<a@example.org> SIZE=10
C: MAIL FROM:<a@example.org> BODY=8BITMIME
C: MAIL FROM:<用户@例子.example> SMTPUTF8
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com> NOTIFY=NEVER
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 *
S: 250 mx.test.example
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 250 2.1.0 *
S: 555 5.5.4 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Protocol: SMTP\n
@absent Size:
@absent Notify:
