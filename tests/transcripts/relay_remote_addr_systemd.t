# systemd's REMOTE_ADDR identifies a remote, untrusted client: relaying is denied, the address is recorded.
@env REMOTE_ADDR=192.0.2.2
@env REMOTE_PORT=40002
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@anywhere.example>
C: RCPT TO:<postmaster>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 550 5.7.1 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Client-Address: 192.0.2.2\nClient-Port: 40002\n
@contains Trusted: no\n
