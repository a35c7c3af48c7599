# DATA when recipients were tried and all refused: 554 (RFC 5321 3.3), not 354; nothing spooled.
@env TCPREMOTEIP=192.0.2.1
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@elsewhere.example>
C: RCPT TO:<c@elsewhere.example>
C: DATA
C: RSET
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 554 5.*
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 0
@tmp 0
@exit 0
