# With two recipients the Received line has no "for" clause (no Bcc disclosure).
@env TCPREMOTEIP=192.0.2.1
@args --domain example.com
C: EHLO helo.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: RCPT TO:<secret-bcc@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains with ESMTP id 
@absent for <
