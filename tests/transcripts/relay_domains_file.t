# --domains FILE (one per line, # comments, .name for subdomains) works like --domain.
@env TCPREMOTEIP=192.0.2.1
@args --domains tests/transcripts/relay_domains.list
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: RCPT TO:<b@deep.sub.example.net>
C: RCPT TO:<b@example.net>
C: RCPT TO:<b@commented.example>
C: RCPT TO:<b@sub.example.com>
C: RCPT TO:<b@example.org>
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
S: 221 2.0.0 *
@exit 0
