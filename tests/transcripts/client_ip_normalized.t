# Client addresses from the launcher are checked and written in canonical form: an IPv4-mapped IPv6 address is the plain IPv4 one; the local one likewise.
@env TCPREMOTEIP=::ffff:192.0.2.77
@env TCPREMOTEPORT=40000
@env TCPLOCALIP=::FFFF:198.51.100.255
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
@contains Received: from helo.example ([192.0.2.77])
@contains by mx.test.example ([198.51.100.255])
@contains Client-Address: 192.0.2.77\n
@contains Client-Port: 40000\n
