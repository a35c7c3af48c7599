# DATA after the only RCPT was refused for syntax (501): a recipient was tried and refused, so 554 (issue 2), not 503.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<>
C: DATA
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 501 5.1.3 *
S: 554 5.*
S: 221 2.0.0 *
@new 0
@exit 0
