# The 20th error reply is followed by 421 4.7.0 and the end of the session (exit 1); later input is ignored.
C: EHLO client.example
C: BOGUS1
C: BOGUS2
C: BOGUS3
C: BOGUS4
C: BOGUS5
C: BOGUS6
C: BOGUS7
C: BOGUS8
C: BOGUS9
C: BOGUS10
C: BOGUS11
C: BOGUS12
C: BOGUS13
C: BOGUS14
C: BOGUS15
C: BOGUS16
C: BOGUS17
C: BOGUS18
C: BOGUS19
C: BOGUS20
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 500 5.5.1 *
S: 421 4.7.0 *
@exit 1
