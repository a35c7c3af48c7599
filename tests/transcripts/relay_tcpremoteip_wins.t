# TCPREMOTEIP is looked at first: a remote TCPREMOTEIP is untrusted even if REMOTE_ADDR says loopback.
@env TCPREMOTEIP=192.0.2.4
@env REMOTE_ADDR=127.0.0.1
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
