"""SMS for feature phones, through an Android phone as gateway or an HTTP aggregator (see ``sms_channel``)."""
