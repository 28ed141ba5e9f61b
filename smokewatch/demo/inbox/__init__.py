"""The demo inbox: where SMS, voice and WeChat messages land, shown as a phone would."""
