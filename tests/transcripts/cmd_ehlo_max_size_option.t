# --max-size is advertised in the EHLO SIZE line and enforced on MAIL SIZE= (RFC 1870: 552 5.3.4).
@args --max-size 1000
C: EHLO client.example
C: MAIL FROM:<a@example.org> SIZE=1001
C: MAIL FROM:<a@example.org> SIZE=1000
C: QUIT
S: 220 mx.test.example ESMTP*
S: 250-mx.test.example
S: 250-SIZE 1000
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 *
S: 552 5.3.4 *
S: 250 2.1.0 *
S: 221 2.0.0 *
@exit 0
