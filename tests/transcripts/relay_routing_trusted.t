# A trusted client (RELAYCLIENT) may still use routing syntax in local parts: it may relay anyway.
@env TCPREMOTEIP=192.0.2.7
@env RELAYCLIENT=
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<victim%outside.example@example.com>
C: RCPT TO:<"victim@outside.example"@example.com>
C: RCPT TO:<outside.example!victim@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <victim%outside.example@example.com>\n
@contains Recipient: <outside.example!victim@example.com>\n
