# --domain .example.com covers example.com and every subdomain, but not badexample.com or example.com.evil.example.
@env TCPREMOTEIP=192.0.2.1
@args --domain .example.com
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: RCPT TO:<b@sub.example.com>
C: RCPT TO:<b@a.b.Example.Com>
C: RCPT TO:<b@badexample.com>
C: RCPT TO:<b@example.com.evil.example>
C: RCPT TO:<b@com>
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
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <b@example.com>\nRecipient: <b@sub.example.com>\nRecipient: <b@a.b.Example.Com>\n\n
