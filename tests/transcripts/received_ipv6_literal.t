# An IPv6 client must appear as an RFC 5321 address literal [IPv6:...] in the Received line (4.1.3, 4.4 TCP-info).
@env TCPREMOTEIP=2001:db8::5
@env TCPLOCALIP=2001:db8::1
@args --domain example.com
C: EHLO helo.example
C: MAIL FROM:<a@example.org>
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
@contains Received: from helo.example ([IPv6:2001:db8::5])
@contains by mx.test.example ([IPv6:2001:db8::1]) with ESMTP id 
