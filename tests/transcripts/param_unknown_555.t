# Unknown parameters, or ones meant for the other command, are 555 5.5.4 (RFC 5321 4.1.1.11).
C: EHLO client.example
C: MAIL FROM:<a@example.org> FOO=bar
C: MAIL FROM:<a@example.org> XVERP
C: MAIL FROM:<a@example.org> NOTIFY=NEVER
C: MAIL FROM:<a@example.org> ORCPT=rfc822;a@example.org
C: MAIL FROM:<a@example.org> SIZE=10 AUTH=<>
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com> FOO=bar
C: RCPT TO:<b@example.com> SIZE=10
C: RCPT TO:<b@example.com> RET=FULL
C: RCPT TO:<b@example.com> SMTPUTF8
C: RCPT TO:<b@example.com>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 250 2.1.0 *
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 555 5.5.4 *
S: 250 2.1.5 *
S: 221 2.0.0 *
@exit 0
