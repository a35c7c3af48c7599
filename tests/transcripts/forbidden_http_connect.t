# An HTTP proxy CONNECT: 421 4.7.0 and the session ends.
C: CONNECT mx.test.example:25 HTTP/1.1
C: EHLO client.example
S: 220 mx.test.example ESMTP*
S: 421 4.7.0 *
@exit 1
