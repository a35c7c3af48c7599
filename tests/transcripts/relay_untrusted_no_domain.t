# Untrusted client, no --domain: every recipient is 550 5.7.1 except postmaster (bare, any case, or at our host name).
@env TCPREMOTEIP=192.0.2.1
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: RCPT TO:<b@elsewhere.example>
C: RCPT TO:<postmaster@elsewhere.example>
C: RCPT TO:<b@[192.0.2.99]>
C: RCPT TO:<postmaster>
C: RCPT TO:<POSTMASTER>
C: RCPT TO:<PostMaster@mx.test.example>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 550 5.7.1 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Trusted: no\n
@absent b@example.com
@absent elsewhere
