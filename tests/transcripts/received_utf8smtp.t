# EHLO plus MAIL ... SMTPUTF8: the Received line says "with UTF8SMTP" (RFC 6531 4.3).
@env TCPREMOTEIP=192.0.2.1
@args --domain example.com
C: EHLO helo.example
C: MAIL FROM:<a@example.org> SMTPUTF8
C: RCPT TO:<b@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Received: from helo.example ([192.0.2.1])
@contains by mx.test.example with UTF8SMTP id 
