# Several --domain options each add a local domain; others stay 550 5.7.1.
@env TCPREMOTEIP=192.0.2.1
@args --domain example.com --domain example.net --domain .example.info
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: RCPT TO:<b@example.net>
C: RCPT TO:<b@x.example.info>
C: RCPT TO:<b@example.org>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 550 5.7.1 *
S: 221 2.0.0 *
@exit 0
