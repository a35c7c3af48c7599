# "Received:" with no space after the colon is still a header line (RFC 5322 2.2): 421 4.7.0 and close.
C: EHLO client.example
C: Received:from evil.example
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 421 4.7.0 *
@exit 1
