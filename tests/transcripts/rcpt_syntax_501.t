# RCPT argument syntax errors: 501; the null path <> is refused as a recipient (5.1.3).
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT
C: RCPT TO:
C: RCPT FROM:<b@example.com>
C: RCPT TO:b@example.com
C: RCPT TO:<b@example.com
C: RCPT TO:<>
C: RCPT TO:<b@>
C: RCPT TO:<b@example..com>
C: RCPT TO:<b@[300.1.1.1]>
C: RCPT TO:<b@[IPv6:2001:db8::zz]>
C: RCPT TO:<b@[IPv6:1:2:3:4:5:6:7:8:9]>
C: RCPT TO:<b@[192.0.2.1>
C: RCPT TO:<"unterminated@example.com>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 501 5.*
S: 501 5.*
S: 501 5.*
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
