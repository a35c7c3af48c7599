# SIZE=1*20DIGIT (RFC 1870): a 20-digit size is valid syntax and over the limit, so 552 5.3.4, not 501.
C: EHLO client.example
C: MAIL FROM:<a@example.org> SIZE=99999999999999999999
C: MAIL FROM:<a@example.org> SIZE=00000000000000000100
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 552 5.3.4 *
S: 250 2.1.0 *
S: 221 2.0.0 *
@exit 0
