# Routing in the local part (the percent hack, a bang path, a quoted '@') is refused from an untrusted client with 550 5.7.1, even at a domain we serve: a relay further on might honour it.
@env TCPREMOTEIP=192.0.2.7
@args --domain example.com
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<victim%outside.example@example.com>
C: RCPT TO:<"victim@outside.example"@example.com>
C: RCPT TO:<outside.example!victim@example.com>
C: RCPT TO:<"victim%outside.example"@example.com>
C: RCPT TO:<victim%outside.example@elsewhere.example>
C: RCPT TO:<user@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 550 5.7.1 relaying denied: no routing (%, ! or @) in the local part
S: 550 5.7.1 relaying denied: no routing (%, ! or @) in the local part
S: 550 5.7.1 relaying denied: no routing (%, ! or @) in the local part
S: 550 5.7.1 relaying denied: no routing (%, ! or @) in the local part
S: 550 5.7.1 relaying denied: no routing (%, ! or @) in the local part
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <user@example.com>\n
@absent outside.example
