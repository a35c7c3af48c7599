# A local client (pipe, no address in the environment) is trusted: any domain is accepted.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@anywhere.example>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Trusted: yes\n
