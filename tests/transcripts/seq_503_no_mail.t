# After EHLO, before MAIL: RCPT and DATA are 503 5.5.1.
C: EHLO client.example
C: RCPT TO:<b@example.com>
C: DATA
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 503 5.5.1 *
S: 503 5.5.1 *
S: 221 2.0.0 *
@new 0
@exit 0
