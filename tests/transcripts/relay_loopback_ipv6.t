# The IPv6 loopback ::1 is trusted: any domain is accepted.
@env TCPREMOTEIP=::1
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@anywhere.example>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 221 2.0.0 *
@exit 0
