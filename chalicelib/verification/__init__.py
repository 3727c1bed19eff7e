"""Contact verification: a one-time code proves that whoever books can read the e-mail address they give."""
