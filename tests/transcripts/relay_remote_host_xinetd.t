# xinetd's REMOTE_HOST (the client's IP) identifies a remote, untrusted client: relaying is denied.
@env REMOTE_HOST=192.0.2.3
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@anywhere.example>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 550 5.7.1 *
S: 221 2.0.0 *
@exit 0
