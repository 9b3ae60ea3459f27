# The docs' end-to-end example (mnist_tensorflow.py beside it) on Keras 3: the same
# model, config and loop; only the imports changed, and scikit-learn's bundled 8x8 digits
# stand in for the MNIST download (so the input layer takes 64 values, not 784). It never
# calls log_metric: Keras's auto-logging supplies "loss". With Keras 3 on JAX's CPU backend
# (pip install 'comet_optimize[keras]'):
#     KERAS_BACKEND=jax comet optimize examples/keras_mnist/mnist_keras3.py
import comet_ml
import logging

logging.basicConfig(level=logging.INFO)
LOGGER = logging.getLogger("comet_ml")

from keras.layers import Dense
from keras.models import Sequential
from keras.optimizers import RMSprop
from keras.utils import to_categorical
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def build_model_graph(experiment):
    model = Sequential()
    model.add(
        Dense(
            experiment.get_parameter("first_layer_units"),
            activation="sigmoid",
            input_shape=(64,),
        )
    )
    model.add(Dense(128, activation="sigmoid"))
    model.add(Dense(128, activation="sigmoid"))
    model.add(Dense(10, activation="softmax"))
    model.compile(
        loss="categorical_crossentropy",
        optimizer=RMSprop(),
        metrics=["accuracy"],
    )
    return model


def train(experiment, model, x_train, y_train, x_test, y_test):
    model.fit(
        x_train,
        y_train,
        batch_size=experiment.get_parameter("batch_size"),
        epochs=experiment.get_parameter("epochs"),
        validation_data=(x_test, y_test),
    )


def evaluate(experiment, model, x_test, y_test):
    score = model.evaluate(x_test, y_test, verbose=0)
    LOGGER.info("Score %s", score)


def get_dataset():
    num_classes = 10

    # the data (8x8 digits bundled with scikit-learn), shuffled and split
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0
    )

    x_train = x_train.astype("float32")
    x_test = x_test.astype("float32")
    x_train /= 16
    x_test /= 16
    print(x_train.shape[0], "train samples")
    print(x_test.shape[0], "test samples")

    # convert class vectors to binary class matrices
    y_train = to_categorical(y_train, num_classes)
    y_test = to_categorical(y_test, num_classes)

    return x_train, y_train, x_test, y_test


# Get the dataset:
x_train, y_train, x_test, y_test = get_dataset()

# The optimization config:
config = {
    "algorithm": "bayes",
    "name": "Optimize MNIST Network",
    "spec": {"maxCombo": 10, "objective": "minimize", "metric": "loss"},
    "parameters": {
        "first_layer_units": {
            "type": "integer",
            "mu": 500,
            "sigma": 50,
            "scalingType": "normal",
        },
        "batch_size": {"type": "discrete", "values": [64, 128, 256]},
    },
    "trials": 1,
}

opt = comet_ml.Optimizer(config)

for experiment in opt.get_experiments(project_name="my_project"):
    # Log parameters, or others:
    experiment.log_parameter("epochs", 10)

    # Build the model:
    model = build_model_graph(experiment)

    # Train it:
    train(experiment, model, x_train, y_train, x_test, y_test)

    # How well did it do?
    evaluate(experiment, model, x_test, y_test)

    # Optionally, end the experiment:
    experiment.end()
