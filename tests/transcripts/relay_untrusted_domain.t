# --domain example.com: that exact domain (any case) and its postmaster are accepted; subdomains, look-alikes and source routes through it are 550 5.7.1.
@env TCPREMOTEIP=192.0.2.1
@args --domain example.com
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: RCPT TO:<c@EXAMPLE.COM>
C: RCPT TO:<postmaster@example.com>
C: RCPT TO:<b@sub.example.com>
C: RCPT TO:<b@notexample.com>
C: RCPT TO:<b@example.com.evil.example>
C: RCPT TO:<b@example.org>
C: RCPT TO:<postmaster@example.org>
C: RCPT TO:<@example.com:b@evil.example>
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
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <b@example.com>\nRecipient: <c@EXAMPLE.COM>\nRecipient: <postmaster@example.com>\n\n
@absent sub.example.com
@absent evil.example
