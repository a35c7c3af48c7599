# Received line for a remote client (tcpserver env): from HELO (NAME [IP]) by HOST (LOCALNAME [LOCALIP]) with ESMTP id ... for <rcpt>.
@env TCPREMOTEIP=192.0.2.1
@env TCPREMOTEPORT=40001
@env TCPREMOTEHOST=client.example.net
@env TCPLOCALIP=198.51.100.7
@env TCPLOCALHOST=mx.local.example
@args --domain example.com
C: EHLO helo.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: Subject: trace
C:
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
@contains \n\nReceived: from helo.example (client.example.net [192.0.2.1])
@contains by mx.test.example (mx.local.example [198.51.100.7])
@contains with ESMTP id 
@contains for <b@example.com>; 
@contains Client-Address: 192.0.2.1\nClient-Port: 40001\nClient-Name: client.example.net\nHelo: helo.example\nProtocol: ESMTP\nTrusted: no\n
