# Needed by pip install -e .: the editable finder maps vae_gan_tf.configs here only with an __init__.py.
