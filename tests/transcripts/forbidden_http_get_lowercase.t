# HTTP detection ignores case too: "get / http/1.0" gets 421 4.7.0 and the session ends.
C: EHLO client.example
C: get / http/1.0
C: NOOP
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 421 4.7.0 *
@exit 1
