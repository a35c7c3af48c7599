# VRFY: 252 (cannot verify, will accept; RFC 5321 3.5.3) without disclosing anything; no argument is 501.
C: EHLO client.example
C: VRFY bob
C: VRFY <bob@example.com>
C: VRFY
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 252 2.*
S: 252 2.*
S: 501 5.5.4 *
S: 221 2.0.0 *
@exit 0
