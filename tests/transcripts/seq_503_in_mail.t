# After MAIL: a second MAIL is 503, DATA with no RCPT given is 503 (not 554); then RCPT and DATA work.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: MAIL FROM:<other@example.org>
C: DATA
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 503 5.5.1 *
S: 503 5.5.1 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@contains Sender: <a@example.org>\n
@absent other@example.org
@exit 0
