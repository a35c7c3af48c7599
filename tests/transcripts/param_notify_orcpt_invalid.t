# Malformed NOTIFY / ORCPT values: 501 5.5.4, and the recipient is not added.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com> NOTIFY=NEVER,SUCCESS
C: RCPT TO:<b@example.com> NOTIFY=SOMETIMES
C: RCPT TO:<b@example.com> NOTIFY=
C: RCPT TO:<b@example.com> NOTIFY
C: RCPT TO:<b@example.com> NOTIFY=SUCCESS,SUCCESS
C: RCPT TO:<b@example.com> ORCPT=b@example.com
C: RCPT TO:<b@example.com> ORCPT=rfc822;
C: RCPT TO:<b@example.com> ORCPT=rfc822;b+zz@example.com
C: RCPT TO:<b@example.com> ORCPT=;b@example.com
C: RCPT TO:<b@example.com> ORCPT
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 501 5.5.4 *
S: 221 2.0.0 *
@new 0
@exit 0
