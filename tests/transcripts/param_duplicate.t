# The same parameter twice is a syntax error: 501 5.5.4.
C: EHLO client.example
C: MAIL FROM:<a@example.org> SIZE=10 SIZE=10
C: MAIL FROM:<a@example.org> BODY=7BIT body=8BITMIME
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com> NOTIFY=NEVER NOTIFY=NEVER
C: RCPT TO:<b@example.com> ORCPT=rfc822;b@example.com ORCPT=rfc822;c@example.com
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 250 2.1.0 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 221 2.0.0 *
@exit 0
