# A malformed TCPREMOTEIP (leading zeros, a fifth part) makes an untrusted "unknown" client, never a local one: no relaying, and the envelope says so.
@env TCPREMOTEIP=192.000.2.1
@env TCPREMOTEPORT=4x
C: EHLO helo.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@elsewhere.example>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 550 5.7.1 *
S: 221 2.0.0 *
@new 0
@exit 0
