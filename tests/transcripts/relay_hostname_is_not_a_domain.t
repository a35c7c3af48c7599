# Untrusted, no --domain: only postmaster is accepted (issue 2); a user at our --hostname is 550 5.7.1 too.
@env TCPREMOTEIP=192.0.2.1
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<bob@mx.test.example>
C: RCPT TO:<postmaster@mx.test.example>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 550 5.7.1 *
S: 250 2.1.5 *
S: 221 2.0.0 *
@exit 0
